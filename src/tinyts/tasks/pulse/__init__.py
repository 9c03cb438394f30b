"""TinyPulse tasks on arrays: imputation, anomaly scores and embeddings."""

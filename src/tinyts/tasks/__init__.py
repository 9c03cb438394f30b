"""Task post-processing around the models: imputation, anomaly scoring, classification, retrieval,
forecasting. Each task converts its input once with :mod:`tinyts.data.convert.arrays` and back once."""

"""Building blocks shared by tinyts models."""

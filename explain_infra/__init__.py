"""explain-mlops: config models, feature model, service catalog and templating of the platform."""

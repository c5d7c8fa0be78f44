"""Training SatCLIP models: vision encoders, the contrastive model and its Lightning wrapper."""

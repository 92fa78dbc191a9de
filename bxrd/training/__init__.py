"""The one training path: LightningCLI over bxrd's data module and classifiers."""

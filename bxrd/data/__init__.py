"""Datasets: stores, splits, synthesis and LightningDataModules."""

"""The dataset folder: its layout, and merging datasets."""

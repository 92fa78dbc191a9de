"""B-VGGNet backbone and Bayesian layers."""

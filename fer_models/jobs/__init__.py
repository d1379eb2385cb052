"""Prepared jobs for a lent GPU machine (see ``gpu_models``)."""

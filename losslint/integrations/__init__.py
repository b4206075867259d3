"""Integrations with the tools people train and test with: Lightning and the HuggingFace Trainer
callbacks (public as `losslint.lightning` and `losslint.hf`), their shared training bookkeeping
(`training`), and the pytest plugin (`pytest --losslint`, registered through the `pytest11` entry point).

The top layer: it may import any layer below. Importing a module here imports its framework.
"""

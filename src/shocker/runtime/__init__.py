"""Starts and joins container processes from a ContainerSpec."""

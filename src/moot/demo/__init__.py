"""The example thread Moot ships with, and the loader that imports it through the actions."""

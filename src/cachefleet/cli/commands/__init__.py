"""The commands of ``cachefleet``, one small module per verb; ``main.py`` registers them."""

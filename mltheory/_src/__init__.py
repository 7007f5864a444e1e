"""Private helpers shared by every subpackage.

Validation, pytree dataclasses, progress bars, deprecation and scoped float64.

Nothing here is public API: import the names from their modules inside
mltheory only.
"""

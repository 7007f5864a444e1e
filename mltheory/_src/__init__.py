"""Private helpers shared by every subpackage (validation, pytrees, progress, deprecation).

Nothing here is public API: import the names from their modules inside
mltheory only.
"""

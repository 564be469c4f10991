"""See DESIGN.md for what this package is responsible for."""

"""Small runnable example apps."""

"""The ``taskflow`` command line: inspect and operate tasks in a shared store, from outside
the app, through the same use cases as the admin API. It runs no tasks itself."""

"""abauto's built-in plugins, registered through the ``abauto`` entry-point group like any other."""

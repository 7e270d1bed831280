//! Python bindings for eshm: a placeholder until the Python module is built.

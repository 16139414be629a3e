"""One module per ASL state type; :mod:`.base` holds what they share."""

"""Bank (customer) and user subscription settings: validation of update bodies."""

class MSRAInit:  # placeholder, being written
    pass

class CheckPlateauMonitorHook:  # placeholder, being written
    pass

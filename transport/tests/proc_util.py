"""What the tests that drive faultline's programs share."""
import time


def wait_for(cond, seconds):
    """Polls cond every 10 ms until it holds or `seconds` pass; returns
    whether it held."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()

"""Never finishes being imported: it waits forever."""

import time

while True:
    time.sleep(60)

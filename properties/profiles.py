"""The names of the suite's Hypothesis profiles (`properties.settings` registers them),
apart so that the command line can offer them without importing Hypothesis (~1 s)."""

PROFILES = ("quick", "default", "thorough", "mutmut")

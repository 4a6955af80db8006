"""Mutation testing of `engine/` with mutmut (`vgrad mutate`, reports/mutate.py), by
concern: the pytest plugin of mutmut's test runs (`plugin`), running mutmut (`runner`),
reading its results and scoring them (`results`), and showing them (`render`).
"""

"""How the suite makes its cases, by area: `scalar` and `tensor` expression graphs drawn
with Hypothesis (tracked rounding keeps every op clear of its kinks and poles),
`optimizers`, `networks`, the hand-picked `explicit` cases, and the NumPy-seeded
`random_scalar` and `random_tensor` graphs of `vgrad report` and the benchmarks; `common`
holds what they share (`Case`, number strategies, operand choice)."""

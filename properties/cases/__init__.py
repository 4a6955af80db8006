"""How the suite makes its cases, by area: `scalar` and `tensor` expression graphs (grown
node by node once, against a `chooser.Chooser`: Hypothesis's draws for the properties,
a NumPy `Generator` for `random_scalar` and `random_tensor`, the seeded graphs of `vgrad
report` and the benchmarks; tracked rounding keeps every op clear of its kinks and
poles), `random_network` (with the `functional` ops, on its own grower for now:
`random_network_base`), `optimizers`, `networks`, `layers`, the hand-picked `explicit`
cases; `common` holds what they share (`Case`, number strategies, operand and output
choice) and `capabilities` what each op needs of a target, from the IR's names."""

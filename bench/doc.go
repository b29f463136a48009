// Package bench holds tandem's benchmarks. They are not tests: they start a
// lab of their own (two real clusters on loopback, under
// ${XDG_STATE_HOME:-~/.local/state}/tandem/bench-lab), load it with a fixed
// data set and measure how fast objects reach the target.
//
// BenchmarkSync10k copies 10,000 mixed objects (ConfigMaps, Secrets,
// Services, Deployments, ServiceAccounts, Roles, RoleBindings) in 50
// namespaces from blue to green three ways in one run and compares them:
//
//   - raw: parallel client-go creates of the same objects, no client-side
//     rate limit — the write limit of green;
//   - tandem: `tandem sync` as a subprocess, with its peak RSS;
//   - kubectl: the pipeline a user would script, namespace by namespace:
//     `kubectl get -o json` → strip server fields → `kubectl apply --server-side`.
//
// Run it with `make bench`; README.md has the numbers and the goals.
package bench

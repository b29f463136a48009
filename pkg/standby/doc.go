// Package standby makes a cluster a standby: it holds every object of the
// source but runs no app pods. Transform is the pure rewrite sync applies to
// desired objects (replicas to 0, CronJobs suspended, DaemonSets parked,
// admission webhooks whose backends it parks failing open, the originals
// kept in annotations); Policy builds the admission policy that keeps
// workloads at 0 while the cluster is standby; Activate and Deactivate switch a
// live cluster between the two states.
package standby

// Package pair reads the state of a cluster pair the way `tandem status`
// shows it: for each cluster its reachability, version, identity, role
// record, standby marker, workloads, switchover lock and mirror; the
// verdict of the records (which one is active, at which epoch); and the
// router's real weights with where they disagree with the records. `tandem
// status`, the controller and the dashboard call it; nothing here writes.
package pair

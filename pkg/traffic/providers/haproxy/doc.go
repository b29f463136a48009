// Package haproxy routes traffic through HAProxy's runtime API: server
// weights in one backend, one server per cluster.
package haproxy

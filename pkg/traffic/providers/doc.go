// Package providers opens the Router a URL names. The providers are chosen
// here, in one switch, not registered from init().
package providers

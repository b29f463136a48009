// Package inventory finds every listable resource a source cluster serves,
// picks for each the version both clusters serve (the source apiserver
// converts on read), and lists objects page by page.
package inventory

// Package apply executes a plan on the target cluster: server-side apply with
// tandem's field manager, wave by wave, with bounded workers, retries with
// backoff, a per-object result and a journal entry before and after each
// write.
package apply

package syncer

// Archives encrypted with age (filippo.io/age): an export holds every
// Secret of what it copies, so it can be sealed for the recipients who may
// import it.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// ageHeader starts every age file.
const ageHeader = "age-encryption.org/v1"

// ErrEncrypted is returned by OpenArchive for an encrypted archive read without identities.
var ErrEncrypted = errors.New("the archive is encrypted (age)")

// EncryptTo returns a writer that encrypts to the recipients: age public
// keys (age1…, ssh-ed25519 …) or files that list them; Close finishes it.
func EncryptTo(w io.Writer, recipients []string) (io.WriteCloser, error) {
	var rs []age.Recipient
	for _, r := range recipients {
		parsed, err := parseRecipients(r)
		if err != nil {
			return nil, err
		}
		rs = append(rs, parsed...)
	}
	return age.Encrypt(w, rs...)
}

func parseRecipients(s string) ([]age.Recipient, error) {
	text := s
	if !strings.HasPrefix(s, "age1") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("recipient %q: neither an age public key (age1…) nor a readable recipients file: %w", s, err)
		}
		text = string(b)
	}
	rs, err := age.ParseRecipients(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("recipient %q: %w", s, err)
	}
	return rs, nil
}

// OpenArchive returns the archive's plain content: r itself when it is not
// encrypted, else r decrypted with the identities in identityFile
// (ErrEncrypted when none is given).
func OpenArchive(r io.Reader, identityFile string) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(ageHeader))
	if !bytes.Equal(head, []byte(ageHeader)) {
		return br, nil
	}
	if identityFile == "" {
		return nil, ErrEncrypted
	}
	f, err := os.Open(identityFile)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", identityFile, err)
	}
	return age.Decrypt(br, ids...)
}

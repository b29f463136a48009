package syncer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

func TestArchiveEncryptedForItsRecipient(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	w, err := EncryptTo(&sealed, []string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	secret := "password: aHVudGVyMg=="
	if _, err := io.WriteString(w, secret); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Bytes(), []byte("aHVudGVyMg==")) {
		t.Fatal("the sealed archive shows the secret")
	}
	if _, err := OpenArchive(bytes.NewReader(sealed.Bytes()), ""); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("without an identity: %v", err)
	}
	idFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenArchive(bytes.NewReader(sealed.Bytes()), idFile)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if string(got) != secret {
		t.Fatalf("decrypted %q", got)
	}
	other, _ := age.GenerateX25519Identity()
	otherFile := filepath.Join(t.TempDir(), "other.txt")
	_ = os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600)
	if _, err := OpenArchive(bytes.NewReader(sealed.Bytes()), otherFile); err == nil {
		t.Fatal("another identity opened the archive")
	}
	// A plain archive reads as it is.
	plain, err := OpenArchive(bytes.NewReader([]byte("plain")), "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(plain); string(b) != "plain" {
		t.Fatalf("plain read %q", b)
	}
}

package syncer

// The target's copy of each picked object, as a decision reads it, held
// from the target's list until the object is planned. A no-op sync of a
// large cluster holds one for every object at once, so it is kept small:
// the UID and the content hash as bytes, the labels and managers shared
// through the interner, and what few objects have (other annotations, a
// UID or hash not in the usual form) behind one pointer.

import (
	"encoding/hex"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/plan"
)

// targetCopy is the target's copy of an object (the zero value: it has none).
type targetCopy struct {
	uid      [16]byte // the UID, when it is a UUID in its usual form (uidBytes)
	hash     [16]byte // the hash annotation, when it is 32 hex digits (hashBytes)
	flags    uint8
	labels   map[string]string   // shared: never modified
	managers []plan.ManagedEntry // shared: never modified
	rare     *rareTarget
}

// targetCopy's flags.
const (
	present    uint8 = 1 << iota // the target has a copy
	uidBytes                     // uid holds the UID
	hashed                       // the hash annotation is there
	hashBytes                    // hash holds it
	controlled                   // a controller owns it
	deleting                     // its deletionTimestamp is set
)

// rareTarget is what a target's copy holds only now and then.
type rareTarget struct {
	uid, hash   string            // when not held as bytes
	annotations map[string]string // without the hash and kubectl's last-applied copy; shared
}

func (c *targetCopy) rareOf() *rareTarget {
	if c.rare == nil {
		c.rare = &rareTarget{}
	}
	return c.rare
}

// targetOf is what a decision reads of o, a target object: its UID, hash
// annotation, labels, other annotations and managers.
func targetOf(o *unstructured.Unstructured, in *interner) targetCopy {
	c := targetCopy{flags: present}
	uid := string(o.GetUID())
	if u, err := uuid.Parse(uid); err == nil && u.String() == uid {
		c.uid, c.flags = u, c.flags|uidBytes
	} else {
		c.rareOf().uid = uid
	}
	md, _ := o.Object["metadata"].(map[string]any)
	if metav1.GetControllerOfNoCopy(o) != nil {
		c.flags |= controlled
	}
	if o.GetDeletionTimestamp() != nil {
		c.flags |= deleting
	}
	l, _ := md["labels"].(map[string]any)
	c.labels = in.stringMap(l)
	if ann, _ := md["annotations"].(map[string]any); len(ann) > 0 {
		var rest map[string]any
		for k, v := range ann {
			switch k {
			case plan.HashAnnotation:
				h, _ := v.(string)
				c.flags |= hashed
				if b, err := hex.DecodeString(h); err == nil && len(b) == len(c.hash) && hex.EncodeToString(b) == h {
					copy(c.hash[:], b)
					c.flags |= hashBytes
				} else {
					c.rareOf().hash = h
				}
			case plan.LastAppliedAnnotation:
			default:
				if rest == nil {
					rest = map[string]any{}
				}
				rest[k] = v
			}
		}
		if len(rest) > 0 {
			c.rareOf().annotations = in.stringMap(rest)
		}
	}
	c.managers = in.managers(plan.ManagersOf(o))
	return c
}

// target is the copy as plan reads it; nil when the target has none.
func (c targetCopy) target(namespace string) *plan.Target {
	if c.flags&present == 0 {
		return nil
	}
	t := &plan.Target{Namespace: namespace, Labels: c.labels, Managers: c.managers, Hashed: c.flags&hashed != 0, Controlled: c.flags&controlled != 0, Deleting: c.flags&deleting != 0}
	if c.rare != nil {
		t.UID, t.Hash, t.Annotations = types.UID(c.rare.uid), c.rare.hash, c.rare.annotations
	}
	if c.flags&uidBytes != 0 {
		t.UID = types.UID(uuid.UUID(c.uid).String())
	}
	if c.flags&hashBytes != 0 {
		t.Hash = hex.EncodeToString(c.hash[:])
	}
	return t
}

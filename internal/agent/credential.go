package agent

import (
	"encoding/json"
	"fmt"
	"time"
)

// Credential is what the host's store keeps under an item: the secret in
// exactly the transport format of its variable, its kind, and when it was
// captured. Its JSON form is the stored value.
type Credential struct {
	Kind       Kind      `json:"kind"`
	Secret     string    `json:"secret"`
	CapturedAt time.Time `json:"captured_at"`
}

// String never shows the secret, so a stray %v cannot leak it.
func (c Credential) String() string {
	return fmt.Sprintf("%s credential captured %s", c.Kind, c.CapturedAt.Format(time.RFC3339))
}

// GoString keeps %#v from printing the secret too.
func (c Credential) GoString() string { return c.String() }

// Marshal encodes c for the store.
func (c Credential) Marshal() ([]byte, error) { return json.Marshal(c) }

// UnmarshalCredential decodes a stored value. Errors never quote the value.
func UnmarshalCredential(b []byte) (Credential, error) {
	var c Credential
	if err := json.Unmarshal(b, &c); err != nil {
		return Credential{}, fmt.Errorf("stored credential is not valid JSON")
	}
	if c.Kind != Subscription && c.Kind != APIKey {
		return Credential{}, fmt.Errorf("stored credential has unknown kind %q", c.Kind)
	}
	if c.Secret == "" {
		return Credential{}, fmt.Errorf("stored credential is empty")
	}
	return c, nil
}

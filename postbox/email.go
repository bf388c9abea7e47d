package postbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"
)

// message is what SendEmail stores in the folder's outbox, one file per
// message: everything the client sent, and who sent it.
type message struct {
	MessageID            string
	FolderID             string
	SenderSubject        string // the subject Warden authenticated
	SenderSubjectType    string
	Credential           string // how it authenticated: sigv4, iamToken, apiKey, …
	ReceivedAt           time.Time
	FromEmailAddress     string
	Recipients           []string
	ConfigurationSetName string          `json:",omitempty"`
	Content              json.RawMessage // the request's Content, as sent
}

// maxRecipients is SES's limit per message.
const maxRecipients = 50

func (h *Handler) sendEmail(w http.ResponseWriter, r *request) error {
	var in struct {
		FromEmailAddress     string
		Destination          struct{ ToAddresses, CcAddresses, BccAddresses []string }
		ConfigurationSetName string
		Content              json.RawMessage
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	var content struct {
		Simple *struct {
			Subject struct{ Data string }
			Body    struct{ Text, Html *struct{ Data string } }
		}
		Raw      *struct{ Data []byte } // base64 in JSON
		Template json.RawMessage
	}
	if len(in.Content) == 0 || json.Unmarshal(in.Content, &content) != nil {
		return badRequest("Content: Simple or Raw content is required")
	}
	from := in.FromEmailAddress
	recipients := append(append(append([]string(nil), in.Destination.ToAddresses...), in.Destination.CcAddresses...), in.Destination.BccAddresses...)
	switch {
	case content.Template != nil:
		return badRequest("Content.Template: templates are not supported; send Simple or Raw content")
	case content.Simple != nil && content.Raw != nil, content.Simple == nil && content.Raw == nil:
		return badRequest("Content: exactly one of Simple and Raw is required")
	case content.Simple != nil && (content.Simple.Subject.Data == "" || content.Simple.Body.Text == nil && content.Simple.Body.Html == nil):
		return badRequest("Content.Simple: a subject and a text or HTML body are required")
	case content.Raw != nil:
		raw, err := mail.ReadMessage(bytes.NewReader(content.Raw.Data))
		if err != nil {
			return badRequest("Content.Raw.Data: not a MIME message: %v", err)
		}
		if from == "" {
			from = raw.Header.Get("From")
		}
		if len(recipients) == 0 {
			for _, hdr := range []string{"To", "Cc"} {
				if list, err := raw.Header.AddressList(hdr); err == nil {
					for _, a := range list {
						recipients = append(recipients, a.Address)
					}
				}
			}
		}
	}
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return badRequest("FromEmailAddress: %q is not an email address", from)
	}
	if len(recipients) == 0 || len(recipients) > maxRecipients {
		return badRequest("Destination: 1 to %d recipients are required", maxRecipients)
	}
	for _, rcpt := range recipients {
		if _, err := mail.ParseAddress(rcpt); err != nil {
			return badRequest("Destination: %q is not an email address", rcpt)
		}
	}
	if err := h.verified(r.folder, sender.Address); err != nil {
		return err
	}
	if err := h.setExists(r.folder, in.ConfigurationSetName); err != nil {
		return err
	}
	id, err := newMessageID()
	if err != nil {
		return err
	}
	m := message{
		MessageID: id, FolderID: r.folder, SenderSubject: r.subject.ID, SenderSubjectType: r.subject.Type, Credential: r.via,
		ReceivedAt: h.now().UTC(), FromEmailAddress: from, Recipients: recipients, ConfigurationSetName: in.ConfigurationSetName, Content: in.Content,
	}
	if err := h.store.Create(r.folder, kindOutbox, id, m); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"MessageId": id})
	return nil
}

// verified is nil when the address, or its domain, is an identity of the
// folder; otherwise MessageRejected, as SES answers an unverified sender.
func (h *Handler) verified(folder, address string) error {
	_, domain, _ := strings.Cut(address, "@")
	for _, name := range []string{address, domain} {
		_, err := h.identity(folder, name)
		var ae *apiError
		if err == nil {
			return nil
		}
		if !errors.As(err, &ae) {
			return err
		}
	}
	return &apiError{http.StatusBadRequest, "MessageRejected", "Email address is not verified. The following identities failed the check: " + address}
}

func newMessageID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

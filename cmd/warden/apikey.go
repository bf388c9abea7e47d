package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"warden/client"
)

// apiKeysPath is the collection of the Cloud.ru-style REST API for API
// keys, which has no gRPC counterpart.
const apiKeysPath = "/api/v1/service-accounts/credentials/api-keys"

// defaultAPIKeyName is the name of a key created without --name: the
// server requires one.
const defaultAPIKeyName = "api-key"

// The wire shapes. Requests are camelCase and responses snake_case, as in
// Cloud.ru's API; the output uses the response's names.

type timeSlot struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

type restrictionsRequest struct {
	IPAddresses *ipAddressesRequest `json:"ipAddresses,omitempty"`
	TimeRange   *timeRangeRequest   `json:"timeRange,omitempty"`
}

type ipAddressesRequest struct {
	IPAddresses []string `json:"ipAddresses"`
}

// timeRangeRequest leaves out what does not change: the server keeps the
// slots or the timezone a PATCH does not send.
type timeRangeRequest struct {
	TimeSlots *[]timeSlot `json:"timeSlots,omitempty"`
	Timezone  *int        `json:"timezone,omitempty"`
}

type createAPIKeyRequest struct {
	Name             string               `json:"name"`
	Description      string               `json:"description,omitempty"`
	ServiceAccountID string               `json:"serviceAccountId,omitempty"`
	Products         []string             `json:"products,omitempty"`
	Scopes           []string             `json:"scopes,omitempty"`
	Restrictions     *restrictionsRequest `json:"restrictions,omitempty"`
	Enabled          bool                 `json:"enabled"`
	ExpiresAt        string               `json:"expiresAt,omitempty"`
}

// apiKey is a key as the server returns it and the CLI prints it.
// Timestamps stay the server's RFC 3339 text.
type apiKey struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Description      string        `json:"description,omitempty"`
	ServiceAccountID string        `json:"service_account_id"`
	Products         []string      `json:"products,omitempty"`
	Scopes           []string      `json:"scopes,omitempty"`
	Secret           string        `json:"secret,omitempty"`
	Restrictions     *restrictions `json:"restrictions,omitempty"`
	Enabled          bool          `json:"enabled"`
	MaskedSecret     string        `json:"masked_secret,omitempty"`
	CreatedAt        string        `json:"created_at,omitempty"`
	UpdatedAt        string        `json:"updated_at,omitempty"`
	ExpiresAt        string        `json:"expires_at,omitempty"`
	LastUsedAt       string        `json:"last_used_at,omitempty"`
}

type restrictions struct {
	IPAddresses *struct {
		IPAddresses []string `json:"ip_addresses"`
	} `json:"ip_addresses,omitempty"`
	TimeRange *struct {
		TimeSlots []timeSlot `json:"time_slots"`
		Timezone  int        `json:"timezone"`
	} `json:"time_range,omitempty"`
}

// tidy drops the empty parts of the restrictions, which the server sends
// for a key without them, so that the output shows only what applies.
func (k *apiKey) tidy() {
	r := k.Restrictions
	if r == nil {
		return
	}
	if r.IPAddresses != nil && len(r.IPAddresses.IPAddresses) == 0 {
		r.IPAddresses = nil
	}
	if r.TimeRange != nil && len(r.TimeRange.TimeSlots) == 0 && r.TimeRange.Timezone == 0 {
		r.TimeRange = nil
	}
	if r.IPAddresses == nil && r.TimeRange == nil {
		k.Restrictions = nil
	}
}

var apiKeyColumns = []column[apiKey]{
	{"ID", func(k apiKey) string { return k.ID }},
	{"NAME", func(k apiKey) string { return k.Name }},
	{"SECRET", func(k apiKey) string { return k.MaskedSecret }},
	{"ENABLED", func(k apiKey) string { return strconv.FormatBool(k.Enabled) }},
	{"PRODUCTS", func(k apiKey) string { return strings.Join(k.Products, ",") }},
	{"EXPIRES AT", func(k apiKey) string { return formatRFC3339(k.ExpiresAt) }},
	{"LAST USED AT", func(k apiKey) string { return formatRFC3339(k.LastUsedAt) }},
}

// formatRFC3339 renders a timestamp as formatTime does; text it cannot
// read is shown as it is.
func formatRFC3339(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

const apiKeyRestrictionsHelp = `

Restrictions limit where and when the key works: --allowed-ips takes IP
addresses and CIDR ranges, --time-slot a daily window of whole hours
START-END (18-19 is 18:00 to 19:00; repeat the flag for several windows) in
the UTC offset --timezone (hours, -12 to 12). The server checks the values
and names the field it refuses.`

func (a *app) apiKeyCommand() *cobra.Command {
	return group("api-key", "Manage the API keys of service accounts", `
Manage API keys: long-lived secrets with which a service account calls
products (postbox, monaas, ...) directly, restricted to products, scopes,
source addresses and hours of the day. The secret is shown once, when the
key is created; afterwards only its last characters are.

These commands use Warden's Cloud.ru-style REST API
(`+apiKeysPath+`) at the --endpoint.`,
		[]string{"api-keys"}, a.apiKeyCreateCommand(), a.apiKeyListCommand(), a.apiKeyGetCommand(), a.apiKeyUpdateCommand(),
		a.apiKeyEnabledCommand(true), a.apiKeyEnabledCommand(false), a.apiKeyDeleteCommand())
}

// apiKeyRestrictionFlags are the restriction flags of create and update.
type apiKeyRestrictionFlags struct {
	allowedIPs []string
	timeSlots  timeSlotsFlag
	timezone   int
}

func (r *apiKeyRestrictionFlags) register(cmd *cobra.Command, replacing string) {
	f := cmd.Flags()
	f.StringSliceVar(&r.allowedIPs, "allowed-ips", nil, "IP addresses and CIDR ranges the key may be used from, separated by commas"+replacing)
	f.Var(&r.timeSlots, "time-slot", "daily window of whole hours START-END in which the key works, like 18-19; repeatable"+replacing)
	f.IntVar(&r.timezone, "timezone", 0, "UTC offset in hours of the time slots, like 3 or -5")
}

// changed tells whether any restriction flag was given.
func (r *apiKeyRestrictionFlags) changed(cmd *cobra.Command) bool {
	for _, name := range []string{"allowed-ips", "time-slot", "timezone"} {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// request returns the restrictions whose flags were given, as a PATCH or
// a create carries them: the server replaces the sub-objects sent (an
// empty list removes that restriction) and keeps the others. With all,
// both sub-objects are sent, empty where no flag was given, so that
// nothing else remains.
func (r *apiKeyRestrictionFlags) request(cmd *cobra.Command, all bool) *restrictionsRequest {
	changed := cmd.Flags().Changed
	out := &restrictionsRequest{}
	if all || changed("allowed-ips") {
		out.IPAddresses = &ipAddressesRequest{IPAddresses: nonNilStrings(r.allowedIPs)}
	}
	if all || changed("time-slot") || changed("timezone") {
		out.TimeRange = &timeRangeRequest{}
		if all || changed("time-slot") {
			slots := r.timeSlots.slots
			if slots == nil {
				slots = []timeSlot{}
			}
			out.TimeRange.TimeSlots = &slots
		}
		if all || changed("timezone") {
			tz := r.timezone
			out.TimeRange.Timezone = &tz
		}
	}
	return out
}

// apiKeyCreate holds the flags of api-key create.
type apiKeyCreate struct {
	owner             keyOwner
	name, description string
	scopes, products  []string
	restrictions      apiKeyRestrictionFlags
	expiryFlags
	disabled bool
}

// expiryFlags are --expires-in and --expires-at of a credential's create.
type expiryFlags struct {
	expiresIn, expiresAt string
	now                  func() time.Time
}

func (a *app) apiKeyCreateCommand() *cobra.Command {
	k := apiKeyCreate{expiryFlags: expiryFlags{now: time.Now}}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print its secret, once",
		Long: `Create an API key for a service account. The secret is printed once, in
the answer to this command: store it now, Warden keeps only its hash and
cannot show it again.

The key is named --name (default "` + defaultAPIKeyName + `"), works for the --products and
--scopes given, is enabled unless --disabled is given, and expires after
--expires-in or at --expires-at (from one day to one year ahead; one year
when neither is given).` + apiKeyRestrictionsHelp + keyOwnerHelp,
		Example: `  warden iam api-key create --service-account-name my-robot
  warden iam api-key create --service-account-name my-robot --name mailer --products postbox --scopes yc.postbox.send --expires-in 90d
  warden iam api-key create --service-account-id ajeexample0000000000 --allowed-ips 10.0.0.0/8,2001:db8::/32 \
      --time-slot 9-13 --time-slot 14-18 --timezone 3 --expires-at 2027-01-31T00:00:00Z --disabled
  warden iam api-key create --service-account-name my-robot --format json | jq -r .secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.createAPIKey(cmd, &k) },
	}
	k.owner.register(cmd)
	f := cmd.Flags()
	f.StringVar(&k.name, "name", "", `name of the key: 1 to 256 Latin letters, digits, '-', '_', '.' and spaces (default "`+defaultAPIKeyName+`")`)
	f.StringVar(&k.description, "description", "", "description of the key")
	f.StringSliceVar(&k.scopes, "scopes", nil, "scopes the key grants, separated by commas, like yc.postbox.send")
	f.StringSliceVar(&k.products, "products", nil, "products the key may be used with, separated by commas, like postbox,monaas")
	k.restrictions.register(cmd, "")
	f.StringVar(&k.expiresIn, "expires-in", "", "lifetime of the key: days like 90d, or a duration like 12h or 1h30m (default one year)")
	f.StringVar(&k.expiresAt, "expires-at", "", "expiry time of the key in RFC 3339, like 2027-01-31T00:00:00Z")
	f.BoolVar(&k.disabled, "disabled", false, "create the key disabled (enable it later with warden iam api-key enable)")
	return cmd
}

func (a *app) createAPIKey(cmd *cobra.Command, k *apiKeyCreate) error {
	ctx := cmd.Context()
	expiresAt, err := k.expiry()
	if err != nil {
		return err
	}
	req := createAPIKeyRequest{Name: k.name, Description: k.description, Products: k.products, Scopes: k.scopes,
		Enabled: !k.disabled, ExpiresAt: expiresAt}
	if req.Name == "" {
		req.Name = defaultAPIKeyName
	}
	if k.restrictions.changed(cmd) {
		req.Restrictions = k.restrictions.request(cmd, false)
	}
	c, sa, err := a.dialOwner(ctx, &k.owner)
	if err != nil {
		return err
	}
	req.ServiceAccountID = sa
	var key apiKey
	if err := c.DoJSON(ctx, http.MethodPost, apiKeysPath, req, &key); err != nil {
		return explainAPIKeyOwner(&k.owner, err)
	}
	key.tidy()
	return a.printCreatedAPIKey(key)
}

// expiry is the expiresAt of the request: "" for the server's default.
func (k *expiryFlags) expiry() (string, error) {
	switch {
	case k.expiresIn != "" && k.expiresAt != "":
		return "", errors.New("give --expires-in or --expires-at, not both")
	case k.expiresIn != "":
		d, err := parseExpiresIn(k.expiresIn)
		if err != nil {
			return "", err
		}
		return k.now().Add(d).UTC().Format(time.RFC3339), nil
	case k.expiresAt != "":
		t, err := time.Parse(time.RFC3339Nano, k.expiresAt)
		if err != nil {
			return "", fmt.Errorf("--expires-at %q: want an RFC 3339 time like 2027-01-31T00:00:00Z", k.expiresAt)
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	}
	return "", nil
}

// daysPrefix is the days part of an --expires-in, which time.ParseDuration
// does not know.
var daysPrefix = regexp.MustCompile(`^([0-9]{1,5})d`)

// parseExpiresIn reads a lifetime: whole days (90d), a Go duration (12h,
// 1h30m) or both (1d12h).
func parseExpiresIn(s string) (time.Duration, error) {
	bad := fmt.Errorf("--expires-in %q: want days like 90d, or a duration like 12h or 1h30m", s)
	var d time.Duration
	rest := s
	if m := daysPrefix.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // at most five digits
		d, rest = time.Duration(n)*24*time.Hour, s[len(m[0]):]
	}
	if rest != "" {
		x, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		d += x
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

// printCreatedAPIKey prints a new key with its secret. The text format
// puts the secret last, under a comment that says it is shown only now, so
// that the output stays YAML.
func (a *app) printCreatedAPIKey(k apiKey) error {
	secret := k.Secret
	if a.flags.format != "text" || secret == "" {
		return a.printAPIKey(k)
	}
	k.Secret = ""
	if err := a.printAPIKey(k); err != nil {
		return err
	}
	out, err := yaml.Marshal(map[string]string{"secret": secret})
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(a.env.Stdout, "# The secret is shown only now: store it safely, it cannot be shown again.\n%s", out)
	return err
}

// printAPIKey prints one key in the format asked for.
func (a *app) printAPIKey(k apiKey) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return a.printJSON(raw)
}

// explainAPIKeyOwner turns the server's complaint about a missing
// serviceAccountId into one about the flags.
func explainAPIKeyOwner(o *keyOwner, err error) error {
	if o.id == "" && o.name == "" && status.Code(err) == codes.InvalidArgument && strings.HasPrefix(status.Convert(err).Message(), "serviceAccountId:") {
		return errors.New("give the service account with --service-account-id or --service-account-name (only a service account may leave it out, for its own keys)")
	}
	return err
}

func (a *app) apiKeyListCommand() *cobra.Command {
	var owner keyOwner
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the API keys of a service account",
		Long:  "List the API keys of a service account, without their secrets." + keyOwnerHelp,
		Example: `  warden iam api-key list --service-account-name my-robot
  warden iam api-key list --service-account-id ajeexample0000000000 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, sa, err := a.dialOwner(ctx, &owner)
			if err != nil {
				return err
			}
			keys, err := listAll(ctx, limit, func(ctx context.Context, size int64, tok string) ([]apiKey, string, error) {
				var resp struct {
					APIKeys       []apiKey `json:"api_keys"`
					NextPageToken string   `json:"next_page_token"`
				}
				err := getPage(ctx, c, apiKeysPath, "serviceAccountId", sa, size, tok, &resp)
				return resp.APIKeys, resp.NextPageToken, err
			})
			if err != nil {
				return explainAPIKeyOwner(&owner, err)
			}
			return a.printAPIKeys(keys)
		},
	}
	owner.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many keys (0: all)")
	return cmd
}

// printAPIKeys prints keys, never their secrets, as a table for text or
// as an array.
func (a *app) printAPIKeys(keys []apiKey) error {
	clean := make([]apiKey, 0, len(keys))
	for _, k := range keys {
		k.Secret = ""
		k.tidy()
		clean = append(clean, k)
	}
	if a.flags.format == "text" {
		rows := make([][]string, len(clean))
		headers := make([]string, len(apiKeyColumns))
		for i, col := range apiKeyColumns {
			headers[i] = col.header
			for j, k := range clean {
				rows[j] = append(rows[j], col.value(k))
			}
		}
		writeTable(a.env.Stdout, headers, rows)
		return nil
	}
	raw, err := json.Marshal(clean)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return a.printJSON(raw)
}

// apiKeyIDCommand is a command acting on one API key, named by its ID.
func (a *app) apiKeyIDCommand(verb, short, long, example string, do func(ctx context.Context, c *client.Client, id string) error) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " ID",
		Short:   short,
		Long:    short + "." + long,
		Example: example,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return errors.New("name the API key: give its ID as the one argument")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			return do(cmd.Context(), c, args[0])
		},
	}
}

func apiKeyPath(id string) string { return apiKeysPath + "/" + url.PathEscape(id) }

// showAPIKey prints a key the server returned, without its secret.
func (a *app) showAPIKey(k apiKey) error {
	k.Secret = ""
	k.tidy()
	return a.printAPIKey(k)
}

func (a *app) apiKeyGetCommand() *cobra.Command {
	return a.apiKeyIDCommand("get", "Show an API key", "\n\nIts secret is never shown again: only masked_secret, its last characters.",
		`  warden iam api-key get akaexample0000000000
  warden iam api-key get akaexample0000000000 --format json`,
		func(ctx context.Context, c *client.Client, id string) error {
			var k apiKey
			if err := c.DoJSON(ctx, http.MethodGet, apiKeyPath(id), nil, &k); err != nil {
				return err
			}
			return a.showAPIKey(k)
		})
}

// apiKeyUpdate holds the flags of api-key update.
type apiKeyUpdate struct {
	name, description string
	products, scopes  []string
	restrictions      apiKeyRestrictionFlags
	clear             bool
}

func (a *app) apiKeyUpdateCommand() *cobra.Command {
	var u apiKeyUpdate
	var cmd *cobra.Command
	cmd = a.apiKeyIDCommand("update", "Change an API key's name, description, products, scopes or restrictions", "\n\n"+`Only the fields whose flags are given change.

A restriction flag replaces that restriction and keeps the others:
--allowed-ips "" removes the address restriction, --time-slot "" the time
one. --clear-restrictions removes all restrictions; given with restriction
flags, the key is left with only those.`+apiKeyRestrictionsHelp,
		`  warden iam api-key update akaexample0000000000 --name mailer --description "postbox, prod"
  warden iam api-key update akaexample0000000000 --products postbox,monaas
  warden iam api-key update akaexample0000000000 --allowed-ips 10.0.0.0/8 --time-slot 18-19 --timezone 3
  warden iam api-key update akaexample0000000000 --clear-restrictions`,
		func(ctx context.Context, c *client.Client, id string) error {
			return a.updateAPIKey(ctx, cmd, c, id, &u)
		})
	f := cmd.Flags()
	f.StringVar(&u.name, "name", "", "new name: 1 to 256 Latin letters, digits, '-', '_', '.' and spaces")
	f.StringVar(&u.description, "description", "", "new description (\"\" clears it)")
	f.StringSliceVar(&u.products, "products", nil, "products the key may be used with, replacing all, separated by commas (\"\" removes all)")
	f.StringSliceVar(&u.scopes, "scopes", nil, "scopes the key grants, replacing all, separated by commas (\"\" removes all)")
	u.restrictions.register(cmd, " (\"\" removes the restriction)")
	f.BoolVar(&u.clear, "clear-restrictions", false, "remove all restrictions, or all but those of the restriction flags given with it")
	return cmd
}

func (a *app) updateAPIKey(ctx context.Context, cmd *cobra.Command, c *client.Client, id string, u *apiKeyUpdate) error {
	patch := map[string]any{}
	flags := cmd.Flags()
	if flags.Changed("name") {
		patch["name"] = u.name
	}
	if flags.Changed("description") {
		patch["description"] = u.description
	}
	if flags.Changed("products") {
		patch["products"] = nonNilStrings(u.products)
	}
	if flags.Changed("scopes") {
		patch["scopes"] = nonNilStrings(u.scopes)
	}
	switch {
	case u.clear && !u.restrictions.changed(cmd):
		patch["restrictions"] = struct{}{} // {}: no restrictions at all
	case u.clear:
		patch["restrictions"] = u.restrictions.request(cmd, true)
	case u.restrictions.changed(cmd):
		patch["restrictions"] = u.restrictions.request(cmd, false)
	}
	if len(patch) == 0 {
		return errors.New("nothing to update: give --name, --description, --products, --scopes, --allowed-ips, --time-slot, --timezone or --clear-restrictions")
	}
	var k apiKey
	if err := c.DoJSON(ctx, http.MethodPatch, apiKeyPath(id), patch, &k); err != nil {
		return err
	}
	return a.showAPIKey(k)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// apiKeyEnabledCommand is enable (enabled true) or disable.
func (a *app) apiKeyEnabledCommand(enabled bool) *cobra.Command {
	verb, short, long := "enable", "Enable an API key", "\n\nRequests made with it are accepted again, within its restrictions."
	if !enabled {
		verb, short, long = "disable", "Disable an API key", "\n\nRequests made with it are refused until it is enabled again; unlike delete,\nthis can be undone."
	}
	return a.apiKeyIDCommand(verb, short, long, "  warden iam api-key "+verb+" akaexample0000000000",
		func(ctx context.Context, c *client.Client, id string) error {
			var k apiKey
			if err := c.DoJSON(ctx, http.MethodPatch, apiKeyPath(id), map[string]bool{"enabled": enabled}, &k); err != nil {
				return err
			}
			return a.showAPIKey(k)
		})
}

func (a *app) apiKeyDeleteCommand() *cobra.Command {
	return a.apiKeyIDCommand("delete", "Delete an API key", "\n\nRequests made with it are refused from now on; this cannot be undone (disable\nit instead to keep that choice).",
		"  warden iam api-key delete akaexample0000000000",
		func(ctx context.Context, c *client.Client, id string) error {
			return c.DoJSON(ctx, http.MethodDelete, apiKeyPath(id), nil, nil)
		})
}

// timeSlotsFlag is a repeatable --time-slot flag: START-END in whole
// hours; a value may hold several, separated by commas, and "" none. Only
// the syntax is checked here: the server checks the hours.
type timeSlotsFlag struct {
	slots []timeSlot
}

func (f *timeSlotsFlag) Type() string { return "START-END" }

func (f *timeSlotsFlag) String() string {
	parts := make([]string, len(f.slots))
	for i, s := range f.slots {
		parts[i] = fmt.Sprintf("%d-%d", s.Start, s.End)
	}
	return strings.Join(parts, ",")
}

func (f *timeSlotsFlag) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		s, err := parseTimeSlot(part)
		if err != nil {
			return err
		}
		f.slots = append(f.slots, s)
	}
	if f.slots == nil {
		f.slots = []timeSlot{}
	}
	return nil
}

func parseTimeSlot(s string) (timeSlot, error) {
	start, end, ok := strings.Cut(s, "-")
	a, errA := strconv.Atoi(strings.TrimSpace(start))
	b, errB := strconv.Atoi(strings.TrimSpace(end))
	if !ok || errA != nil || errB != nil {
		return timeSlot{}, fmt.Errorf("%q is not START-END in whole hours, like 18-19", s)
	}
	return timeSlot{Start: a, End: b}, nil
}

// getPage GETs one page of a REST list at path into out: pageSize and
// pageToken, and the owner's ID in ownerParam when it is not empty.
func getPage(ctx context.Context, c *client.Client, path, ownerParam, owner string, size int64, token string, out any) error {
	q := url.Values{"pageSize": {strconv.FormatInt(size, 10)}}
	if owner != "" {
		q.Set(ownerParam, owner)
	}
	if token != "" {
		q.Set("pageToken", token)
	}
	return c.DoJSON(ctx, http.MethodGet, path+"?"+q.Encode(), nil, out)
}

package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"warden/client"
)

var userColumns = []column[*idp.User]{
	{"ID", func(u *idp.User) string { return u.Id }},
	{"USERNAME", func(u *idp.User) string { return u.Username }},
	{"FULL NAME", func(u *idp.User) string { return u.FullName }},
	{"EMAIL", func(u *idp.User) string { return u.Email }},
	{"STATUS", func(u *idp.User) string { return u.Status.String() }},
}

func users(c *client.Client) idp.UserServiceClient { return idp.NewUserServiceClient(c.Conn()) }

// resolveUser resolves a user named by ID or by login (name@domain).
func (a *app) resolveUser(ctx context.Context, c *client.Client, t *target) (*idp.User, error) {
	byID := func(ctx context.Context, id string) (*idp.User, error) {
		return users(c).Get(ctx, &idp.GetUserRequest{UserId: id})
	}
	return resolve(ctx, t, byID, func(ctx context.Context, login string) (*idp.User, error) {
		acct, err := iam.NewYandexPassportUserAccountServiceClient(c.Conn()).GetByLogin(ctx, &iam.GetUserAccountByLoginRequest{Login: login})
		if err != nil {
			return nil, err
		}
		return byID(ctx, acct.Id)
	})
}

// poolChoice is how a command names a userpool.
type poolChoice struct{ id, name string }

func (p *poolChoice) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.id, "userpool-id", "", "ID of the userpool")
	cmd.Flags().StringVar(&p.name, "userpool-name", "", "name of the userpool")
}

const poolHelp = `

The userpool is --userpool-id or --userpool-name; otherwise the pool whose
domain the login ends in (for create), or the pool named "default", in the
only organization you can see.`

// userpoolID resolves the pool: given, by name, by the domain a login ends
// in, or the pool named "default".
func (a *app) userpoolID(ctx context.Context, c *client.Client, p poolChoice, login string) (string, error) {
	if p.id != "" {
		return p.id, nil
	}
	org, err := a.organizationID(ctx, c, "")
	if err != nil {
		return "", err
	}
	pools, err := listAll(ctx, 0, func(ctx context.Context, size int64, tok string) ([]*idp.Userpool, string, error) {
		resp, err := idp.NewUserpoolServiceClient(c.Conn()).List(ctx, &idp.ListUserpoolsRequest{OrganizationId: org, PageSize: size, PageToken: tok})
		return resp.GetUserpools(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return "", err
	}
	_, domain, hasDomain := strings.Cut(login, "@")
	for _, pool := range pools {
		switch {
		case p.name != "":
			if pool.Name == p.name {
				return pool.Id, nil
			}
		case hasDomain:
			for _, d := range pool.Domains {
				if d == domain {
					return pool.Id, nil
				}
			}
		case pool.Name == "default":
			return pool.Id, nil
		}
	}
	switch {
	case p.name != "":
		return "", fmt.Errorf("userpool %q not found in organization %s", p.name, org)
	case hasDomain:
		return "", fmt.Errorf("no userpool of organization %s has the domain %q: give --userpool-id or --userpool-name", org, domain)
	}
	return "", fmt.Errorf("organization %s has no userpool named \"default\": give --userpool-id or --userpool-name", org)
}

// userProfile holds the profile flags of create and update.
type userProfile struct {
	cmd                                         *cobra.Command
	fullName, givenName, familyName, email      string
	phone, company, department, title, newLogin string
}

func (p *userProfile) flags(cmd *cobra.Command, update bool) {
	p.cmd = cmd
	cmd.Flags().StringVar(&p.fullName, "full-name", "", "full name, as shown to people (create: default the login's name part)")
	cmd.Flags().StringVar(&p.givenName, "given-name", "", "given name")
	cmd.Flags().StringVar(&p.familyName, "family-name", "", "family name")
	cmd.Flags().StringVar(&p.email, "email", "", "e-mail address")
	cmd.Flags().StringVar(&p.phone, "phone-number", "", "phone number")
	cmd.Flags().StringVar(&p.company, "company-name", "", "company")
	cmd.Flags().StringVar(&p.department, "department", "", "department")
	cmd.Flags().StringVar(&p.title, "job-title", "", "job title")
	if update {
		cmd.Flags().StringVar(&p.newLogin, "new-username", "", "new login, name@domain in the same userpool's domain")
	}
}

// mask names the fields whose flags were given.
func (p *userProfile) mask() *fieldmaskpb.FieldMask {
	m := &fieldmaskpb.FieldMask{}
	for flag, field := range map[string]string{"full-name": "full_name", "given-name": "given_name", "family-name": "family_name",
		"email": "email", "phone-number": "phone_number", "company-name": "company_name", "department": "department",
		"job-title": "job_title", "new-username": "username"} {
		if p.cmd.Flags().Changed(flag) {
			m.Paths = append(m.Paths, field)
		}
	}
	return m
}

func (a *app) userCommand() *cobra.Command {
	var limit int
	var listPool poolChoice
	list := &cobra.Command{
		Use:   "list",
		Short: "List the users of a userpool",
		Long:  "List the users of a userpool." + poolHelp,
		Example: `  warden organization-manager user list
  warden organization-manager user list --userpool-name default --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			pool, err := a.userpoolID(cmd.Context(), c, listPool, "")
			if err != nil {
				return err
			}
			us, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*idp.User, string, error) {
				resp, err := users(c).List(ctx, &idp.ListUsersRequest{UserpoolId: pool, PageSize: size, PageToken: tok})
				return resp.GetUsers(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, us, userColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many users (0: all)")
	listPool.flags(list)

	one := func(verb, short, example string, do func(context.Context, *client.Client, *idp.User) error) *cobra.Command {
		cmd := targetCommand(a, "user", a.resolveUser, verb, short, example, do)
		cmd.Long = short + ". Name the user by ID or by login (--name takes a login)."
		return cmd
	}
	get := one("get", "Show a user", `  warden organization-manager user get alice@default
  warden organization-manager user get --id ajuexample0000000000 --format yaml`,
		func(ctx context.Context, c *client.Client, u *idp.User) error { return a.printOne(u) })

	// Suspend, reactivate and delete answer with empty responses; show the
	// user as they now are instead (but for delete).
	act := func(ctx context.Context, c *client.Client, id string, show bool, call func() (*operation.Operation, error)) error {
		op, err := call()
		if err != nil {
			return err
		}
		if _, err := c.Wait(ctx, op); err != nil {
			return err
		}
		if !show {
			fmt.Fprintf(a.env.Stderr, "User %s deleted\n", id)
			return nil
		}
		u, err := users(c).Get(ctx, &idp.GetUserRequest{UserId: id})
		if err != nil {
			return fmt.Errorf("user %s: %w", id, err)
		}
		return a.printOne(u)
	}
	suspend := one("suspend", "Suspend a user: their tokens, keys and password are refused until reactivated", `  warden organization-manager user suspend alice@default`,
		func(ctx context.Context, c *client.Client, u *idp.User) error {
			return act(ctx, c, u.Id, true, func() (*operation.Operation, error) {
				return users(c).Suspend(ctx, &idp.SuspendUserRequest{UserId: u.Id})
			})
		})
	reactivate := one("reactivate", "Reactivate a suspended user", `  warden organization-manager user reactivate alice@default`,
		func(ctx context.Context, c *client.Client, u *idp.User) error {
			return act(ctx, c, u.Id, true, func() (*operation.Operation, error) {
				return users(c).Reactivate(ctx, &idp.ReactivateUserRequest{UserId: u.Id})
			})
		})
	del := one("delete", "Delete a user with their password and tokens", `  warden organization-manager user delete alice@default`,
		func(ctx context.Context, c *client.Client, u *idp.User) error {
			return act(ctx, c, u.Id, false, func() (*operation.Operation, error) {
				return users(c).Delete(ctx, &idp.DeleteUserRequest{UserId: u.Id})
			})
		})

	var cp userProfile
	var createPool poolChoice
	var login string
	var createStdin bool
	create := &cobra.Command{
		Use:   "create [LOGIN]",
		Short: "Create a user with a password",
		Long: `Create a user who logs in (warden login --login LOGIN) with a password.
The login is name@domain, the domain that of the userpool (users of the
pool Warden creates log in as name@default). The password is prompted for
(twice) on a terminal, or read from the first line of stdin (always with
--password-stdin); it must be 8 to 128 characters, not one of the most
common passwords and not contain the login's name.` + poolHelp,
		Example: `  warden organization-manager user create alice@default --full-name "Alice Liddell"
  printf '%s\n' "$PASSWORD" | warden organization-manager user create alice@default --password-stdin`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if login != "" {
					return fmt.Errorf("give the login as an argument or with --username, not both")
				}
				login = args[0]
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			pool, err := a.userpoolID(cmd.Context(), c, createPool, login)
			if err != nil {
				return err
			}
			pw, err := a.readNewPassword(createStdin)
			if err != nil {
				return err
			}
			full := cp.fullName
			if full == "" {
				full, _, _ = strings.Cut(login, "@")
			}
			op, err := users(c).Create(cmd.Context(), &idp.CreateUserRequest{UserpoolId: pool, Username: login, FullName: full,
				GivenName: cp.givenName, FamilyName: cp.familyName, Email: cp.email, PhoneNumber: cp.phone,
				CompanyName: cp.company, Department: cp.department, JobTitle: cp.title,
				Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: pw}}})
			if err != nil {
				return err
			}
			return a.printResult(cmd.Context(), c, op, &idp.User{})
		},
	}
	create.Flags().StringVar(&login, "username", "", "login, name@domain")
	create.Flags().BoolVar(&createStdin, "password-stdin", false, "read the password from stdin, without prompting")
	cp.flags(create, false)
	createPool.flags(create)

	var up userProfile
	update := one("update", "Change a user's login or profile", `  warden organization-manager user update alice@default --email alice@example.com
  warden organization-manager user update alice@default --new-username alice.liddell@default`,
		func(ctx context.Context, c *client.Client, u *idp.User) error {
			mask := up.mask()
			if len(mask.Paths) == 0 {
				return fmt.Errorf("nothing to change: give --new-username, --full-name, --email or another profile flag")
			}
			op, err := users(c).Update(ctx, &idp.UpdateUserRequest{UserId: u.Id, UpdateMask: mask, Username: up.newLogin,
				FullName: up.fullName, GivenName: up.givenName, FamilyName: up.familyName, Email: up.email, PhoneNumber: up.phone,
				CompanyName: up.company, Department: up.department, JobTitle: up.title})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &idp.User{})
		})
	up.flags(update, true)

	var pwStdin, generate, own bool
	setPassword := &cobra.Command{
		Use:   "set-password [ID|LOGIN]",
		Short: "Set a user's password, or your own",
		Long: `Set another user's password (needs organization-manager.users.setPassword
on their userpool, and every role the user holds: a password hands out all
the user may do), or with --own your own, giving the current one. The
password is prompted for (twice) on a terminal, read from the first line of
stdin (always with --password-stdin; --own reads the current password from
the second line), or with --generate made by Warden and printed once on
stdout. Every OAuth token of the user is revoked: they must log in again.`,
		Example: `  warden organization-manager user set-password alice@default --generate
  printf '%s\n' "$NEW_PASSWORD" | warden organization-manager user set-password alice@default --password-stdin
  printf '%s\n%s\n' "$NEW_PASSWORD" "$OLD_PASSWORD" | warden organization-manager user set-password --own --password-stdin`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if own == (len(args) == 1) {
				return fmt.Errorf("name the user whose password to set, or give --own for yours (not both)")
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var u *idp.User
			if !own {
				t := &target{what: "user"}
				if err := t.parse(args); err != nil {
					return err
				}
				if u, err = a.resolveUser(ctx, c, t); err != nil {
					return err
				}
			}
			var pw string
			if generate {
				g, err := users(c).GeneratePassword(ctx, &idp.GeneratePasswordRequest{})
				if err != nil {
					return err
				}
				pw = g.GetPasswordSpec().GetPassword()
			} else if pw, err = a.readNewPassword(pwStdin); err != nil {
				return err
			}
			spec := &idp.PasswordSpec{Password: pw}
			var op *operation.Operation
			if own {
				current, err := a.readSecret("Current password: ", pwStdin)
				if err != nil {
					return err
				}
				op, err = users(c).SetOwnPassword(ctx, &idp.SetOwnPasswordRequest{PasswordSpec: spec, OldPassword: current})
				if err != nil {
					return err
				}
			} else if op, err = users(c).SetOthersPassword(ctx, &idp.SetOthersPasswordRequest{UserId: u.Id, PasswordSpec: spec}); err != nil {
				return err
			}
			if _, err := c.Wait(ctx, op); err != nil {
				return err
			}
			if generate {
				fmt.Fprintln(a.env.Stdout, pw)
			}
			who := "your password"
			if u != nil {
				who = "password of " + u.Username
			}
			fmt.Fprintf(a.env.Stderr, "The %s is set\n", who)
			return nil
		},
	}
	setPassword.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from stdin, without prompting")
	setPassword.Flags().BoolVar(&generate, "generate", false, "let Warden generate a password and print it (shown once)")
	setPassword.Flags().BoolVar(&own, "own", false, "change your own password: give the current one too")

	return group("user", "Manage users", `
Manage users: people, who log in with a password (warden login --login
name@domain). Commands that act on one user take their ID or login as an
argument, or --id or --name.`, []string{"users"}, list, get, create, update, suspend, reactivate, del, setPassword)
}

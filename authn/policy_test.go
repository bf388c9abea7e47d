package authn

import "testing"

func TestPolicy(t *testing.T) {
	p, err := ParsePolicy(`{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": ["postbox.configurationSets.list", "storage.objects.*"]},
		{"Effect": "Allow", "Action": "iam.serviceAccounts.get", "Resource": ["b1gcloud000000000001"]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	in := func(ids ...string) func(string) bool {
		return func(r string) bool {
			for _, id := range ids {
				if id == r {
					return true
				}
			}
			return false
		}
	}
	for _, c := range []struct {
		permission string
		within     func(string) bool
		want       bool
	}{
		{"postbox.configurationSets.list", in(), true},
		{"postbox.configurationSets.create", in(), false},
		{"storage.objects.get", in(), true},
		{"storage.buckets.list", in(), false},
		{"iam.serviceAccounts.get", in("b1gcloud000000000001"), true},
		{"iam.serviceAccounts.get", in("b1gother000000000001"), false},
	} {
		if got := p.Allows(c.permission, c.within); got != c.want {
			t.Errorf("Allows(%s) = %v, want %v", c.permission, got, c.want)
		}
	}
	for _, bad := range []string{
		``, `[]`, `{"Statement": []}`, `{"Statement": [{"Effect": "Deny", "Action": "*"}]}`,
		`{"Statement": [{"Effect": "Allow"}]}`, `{"Statement": [{"Effect": "Allow", "Action": "a b"}]}`,
		`{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "not-an-id"}]}`, `{"Statement": {"Effect": "Allow", "Action": "*"}, "Extra": 1}`,
	} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
}

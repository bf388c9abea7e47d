package e2e

import (
	"context"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	rmpb "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	ycsdk "github.com/yandex-cloud/go-sdk/v2"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	"github.com/yandex-cloud/go-sdk/v2/pkg/endpoints"
	"github.com/yandex-cloud/go-sdk/v2/pkg/options"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// newSDK builds the real Yandex Cloud Go SDK pointed at wardend over
// plaintext h2c, the way a user outside Yandex Cloud would configure it.
func newSDK(t *testing.T, addr string, creds credentials.Credentials) *ycsdk.SDK {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sdk, err := ycsdk.Build(ctx,
		options.WithCredentials(creds),
		options.WithEndpointsResolver(endpoints.NewSingleEndpointResolver(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))),
		options.WithPlaintext(),
	)
	if err != nil {
		t.Fatalf("build SDK: %v", err)
	}
	t.Cleanup(func() { sdk.Shutdown(context.Background()) })
	return sdk
}

// sdkConn returns a plain gRPC connection for go-genproto clients of
// services the SDK module does not wrap here (resource manager).
func sdkConn(t testing.TB, addr string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestYandexSDKServiceAccountLifecycle(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			folder := n.defaultFolder(n.iamToken())
			for name, creds := range map[string]credentials.Credentials{
				//lint:ignore SA1019 Warden issues OAuth tokens: the SDK's way to present them is tested until Warden drops them
				"oauth": credentials.OAuthToken(n.adminOAuthToken()),
				"iam":   credentials.IAMToken(n.iamToken()),
			} {
				t.Run(name, func(t *testing.T) {
					sdkLifecycle(t, newSDK(t, n.addr, creds), folder, "sdk-"+name)
				})
			}
		})
	}
}

func sdkLifecycle(t *testing.T, sdk *ycsdk.SDK, folder, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sa := iamsdk.NewServiceAccountClient(sdk)

	createOp, err := sa.Create(ctx, &iampb.CreateServiceAccountRequest{FolderId: folder, Name: name, Description: "by the Yandex SDK", Labels: map[string]string{"team": "iam"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if createOp.Metadata().GetServiceAccountId() == "" {
		t.Error("create metadata has no service account id")
	}
	created, err := createOp.Wait(ctx)
	if err != nil {
		t.Fatalf("wait create: %v", err)
	}
	if created.GetName() != name || created.GetFolderId() != folder || created.GetStatus() != iampb.ServiceAccount_ACTIVE {
		t.Errorf("created = %v", created)
	}

	var found bool
	it := sa.Iterator(ctx, &iampb.ListServiceAccountsRequest{FolderId: folder, PageSize: 1})
	for it.Next() {
		found = found || it.Value().GetId() == created.GetId()
	}
	if err := it.Error(); err != nil {
		t.Fatalf("list: %v", err)
	}
	if !found {
		t.Error("list does not include the created account")
	}

	updOp, err := sa.Update(ctx, &iampb.UpdateServiceAccountRequest{ServiceAccountId: created.GetId(),
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Description: "updated"})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	updated, err := updOp.Wait(ctx)
	if err != nil {
		t.Fatalf("wait update: %v", err)
	}
	if updated.GetDescription() != "updated" || updated.GetName() != name || updated.GetLabels()["team"] != "iam" {
		t.Errorf("updated = %v", updated)
	}

	got, err := sa.Get(ctx, &iampb.GetServiceAccountRequest{ServiceAccountId: created.GetId()})
	if err != nil || got.GetDescription() != "updated" {
		t.Errorf("get = %v, %v", got, err)
	}

	delOp, err := sa.Delete(ctx, &iampb.DeleteServiceAccountRequest{ServiceAccountId: created.GetId()})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := delOp.Wait(ctx); err != nil {
		t.Fatalf("wait delete: %v", err)
	}
	if _, err := sa.Get(ctx, &iampb.GetServiceAccountRequest{ServiceAccountId: created.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
}

// TestGRPCResourceManager drives folders and operations with the
// go-genproto clients over plain gRPC (the SDK's resource-manager wrapper
// lives in a module the proxy does not serve).
func TestGRPCResourceManager(t *testing.T) {
	n := start(t, t.TempDir(), "")
	tok := n.iamToken()
	conn := sdkConn(t, n.addr)
	ctx := bearerCtx(tok)
	clouds, err := rmpb.NewCloudServiceClient(conn).List(ctx, &rmpb.ListCloudsRequest{})
	if err != nil || len(clouds.Clouds) != 1 {
		t.Fatalf("list clouds = %v, %v", clouds, err)
	}
	folders := rmpb.NewFolderServiceClient(conn)
	op, err := folders.Create(ctx, &rmpb.CreateFolderRequest{CloudId: clouds.Clouds[0].Id, Name: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	var folder rmpb.Folder
	if err := op.GetResponse().UnmarshalTo(&folder); err != nil || folder.Name != "team-a" {
		t.Fatalf("create folder response = %v, %v", op.GetResponse(), err)
	}
	got, err := operation.NewOperationServiceClient(conn).Get(ctx, &operation.GetOperationRequest{OperationId: op.Id})
	if err != nil || !got.Done {
		t.Fatalf("get operation = %v, %v", got, err)
	}
	if _, err := operation.NewOperationServiceClient(conn).Cancel(ctx, &operation.CancelOperationRequest{OperationId: op.Id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("cancel done operation: %v, want FailedPrecondition", err)
	}
	if _, err := folders.Create(ctx, &rmpb.CreateFolderRequest{CloudId: clouds.Clouds[0].Id, Name: "team-a"}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("duplicate folder: %v, want AlreadyExists", err)
	}
	list, err := folders.List(ctx, &rmpb.ListFoldersRequest{CloudId: clouds.Clouds[0].Id, Filter: `name="team-a"`})
	if err != nil || len(list.Folders) != 1 || list.Folders[0].Id != folder.Id {
		t.Errorf("filtered list = %v, %v", list, err)
	}
}

"""Tests for mongoose.listeners.http: handler selection by host and longest path."""

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest

from mongoose.listeners.http import HandlerDispatch, Mount, split_path


class Echo(Resource):
    """A leaf resource that answers with its name and the path it was given."""

    isLeaf = True

    def __init__(self, name):
        super().__init__()
        self.name = name

    def render(self, request):
        rest = b"/".join(request.postpath).decode()
        return f"{self.name}|{b'/'.join(request.prepath).decode()}|{rest}".encode()


def fetch(root, path, host="localhost"):
    """Traverse ``root`` for ``path`` as twisted.web does and render the leaf."""
    segments = [s.encode() for s in path.split("/")[1:]]
    request = DummyRequest(segments)
    request.requestHeaders.setRawHeaders(b"host", [host.encode()])
    resource = root
    while request.postpath and not resource.isLeaf:
        element = request.postpath.pop(0)
        request.prepath.append(element)
        resource = resource.getChildWithDefault(element, request)
    body = resource.render(request)
    return request.responseCode or 200, body.decode()


class DispatchTests(SynchronousTestCase):
    """The root resource picks the handler for each request."""

    def setUp(self):
        self.root = HandlerDispatch(
            [
                Mount("_", split_path("/api"), Echo("rest"), "rest"),
                Mount("_", split_path("/api/graphql"), Echo("graphql"), "graphql"),
                Mount("example.com", split_path("/"), Echo("example-root"), "x"),
                Mount("_", split_path("/"), Echo("root"), "root"),
            ]
        )

    def test_longest_path_wins(self):
        """/api/graphql goes to GraphQL although /api also matches."""
        self.assertEqual(fetch(self.root, "/api/graphql")[1], "graphql|api/graphql|")
        self.assertEqual(fetch(self.root, "/api/users/localhost")[1], "rest|api|users/localhost")

    def test_root_mount_keeps_path(self):
        """A handler at / sees the whole path."""
        self.assertEqual(fetch(self.root, "/other/x")[1], "root||other/x")

    def test_host_specific_mount(self):
        """A handler for one host takes precedence there over a "_" handler."""
        self.assertEqual(fetch(self.root, "/z", host="example.com:5280")[1], "example-root||z")

    def test_no_match_is_json_404(self):
        """Without any matching handler the answer is a JSON 404."""
        root = HandlerDispatch([Mount("_", split_path("/api"), Echo("rest"), "rest")])
        code, body = fetch(root, "/nothing")
        self.assertEqual(code, 404)
        self.assertIn('"error": "not_found"', body)

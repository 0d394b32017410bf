// A webhook receiver for the tests, as the 526 submission would run one:
// it verifies each delivery with the `standardwebhooks` package against
// the secret it knows (WEBHOOK_SECRET), and keeps what it received.
//
//   POST /events     a delivery; answered 500 while failures are owed,
//                    400 when the signature does not verify, else 204
//   GET  /received   every delivery so far, verified or not, as JSON
//   POST /fail?n=N   answer the next N verified deliveries with 500
//
// It prints "webhook receiver listening on <port>" once it listens.
import http from "node:http";
import standardwebhooks from "standardwebhooks";

const { Webhook } = standardwebhooks;
const verifier = new Webhook(process.env.WEBHOOK_SECRET ?? "");
let failures = Number(process.env.WEBHOOK_FAIL_FIRST ?? 0);
const received = [];

function answer(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(body === undefined ? "" : JSON.stringify(body));
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const url = new URL(request.url, "http://receiver");
    if (request.method === "GET" && url.pathname === "/received") {
      return answer(response, 200, received);
    }
    if (request.method === "POST" && url.pathname === "/fail") {
      failures = Number(url.searchParams.get("n") ?? 1);
      return answer(response, 204);
    }
    if (request.method !== "POST" || url.pathname !== "/events") {
      return answer(response, 404, { error: "not here" });
    }
    const payload = Buffer.concat(chunks).toString("utf8");
    const delivery = {
      id: request.headers["webhook-id"] ?? null,
      timestamp: request.headers["webhook-timestamp"] ?? null,
      signatures: (request.headers["webhook-signature"] ?? "").split(" ").length,
      verified: false,
      error: null,
      event: null,
      status: 0,
    };
    try {
      delivery.event = verifier.verify(payload, request.headers);
      delivery.verified = true;
    } catch (error) {
      delivery.error = String(error.message ?? error);
    }
    if (!delivery.verified) {
      delivery.status = 400;
    } else if (failures > 0) {
      failures -= 1;
      delivery.status = 500;
    } else {
      delivery.status = 204;
    }
    received.push(delivery);
    answer(response, delivery.status, delivery.status === 204 ? undefined : { status: delivery.status });
  });
});

server.listen(0, "127.0.0.1", () => {
  console.log(`webhook receiver listening on ${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

// A CloudWatch endpoint over TLS on 127.0.0.1 for the KPL's metrics: it decodes each
// PutMetricData call (AWS query protocol, form-encoded, possibly gzip-compressed), writes one
// JSON line per datum to a file, and answers as CloudWatch does. The KPL daemon signs its
// requests; the stub does not check signatures.

import java.io.ByteArrayInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.zip.GZIPInputStream;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

final class CloudWatchStub {
    private final HttpsServer server;

    private CloudWatchStub(HttpsServer server) {
        this.server = server;
    }

    /** Starts the stub on an ephemeral port; each datum becomes a line of {@code output}. */
    static CloudWatchStub start(String output) throws Exception {
        HttpsServer server = HttpsServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(StsStub.selfSigned()));
        OutputStream out = new FileOutputStream(output, true);
        server.createContext("/", exchange -> {
            byte[] raw;
            try (InputStream in = exchange.getRequestBody()) {
                raw = in.readAllBytes();
            }
            String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
            if (encoding != null && encoding.contains("gzip")) {
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
                    raw = in.readAllBytes();
                }
            }
            Map<String, String> form = new TreeMap<>();
            for (String pair : new String(raw, StandardCharsets.UTF_8).split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    form.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            if (!"PutMetricData".equals(form.get("Action"))) {
                reply(exchange, 400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>");
                return;
            }
            synchronized (out) {
                for (int m = 1; form.containsKey("MetricData.member." + m + ".MetricName"); m++) {
                    String p = "MetricData.member." + m + ".";
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("event", "metric");
                    line.put("namespace", form.get("Namespace"));
                    line.put("metric", form.get(p + "MetricName"));
                    line.put("unit", form.get(p + "Unit"));
                    StringBuilder dims = new StringBuilder();
                    for (int d = 1; form.containsKey(p + "Dimensions.member." + d + ".Name"); d++) {
                        if (dims.length() > 0) {
                            dims.append(',');
                        }
                        dims.append(form.get(p + "Dimensions.member." + d + ".Name")).append('=')
                                .append(form.get(p + "Dimensions.member." + d + ".Value"));
                    }
                    line.put("dimensions", dims.toString());
                    for (String stat : new String[] {"SampleCount", "Sum", "Minimum", "Maximum"}) {
                        String v = form.get(p + "StatisticValues." + stat);
                        line.put(stat, v == null ? null : Double.valueOf(v));
                    }
                    line.put("time_ms", System.currentTimeMillis());
                    KplProducer.write(out, line);
                }
            }
            reply(exchange, 200, "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
                    + "<ResponseMetadata><RequestId>" + UUID.randomUUID() + "</RequestId></ResponseMetadata>"
                    + "</PutMetricDataResponse>");
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "cloudwatch-stub");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return new CloudWatchStub(server);
    }

    private static void reply(com.sun.net.httpserver.HttpExchange exchange, int status, String xml)
            throws IOException {
        byte[] body = xml.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/xml");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream o = exchange.getResponseBody()) {
            o.write(body);
        }
    }

    int port() {
        return server.getAddress().getPort();
    }

    void stop() {
        server.stop(0);
    }
}

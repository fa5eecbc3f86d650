// A minimal STS endpoint over TLS on 127.0.0.1 that answers every request with a
// GetCallerIdentity response. The KPL daemon calls GetCallerIdentity once to learn the account
// for the stream ARN it sends to Kinesis; kinesis-local names its streams under the account
// 000000000000, which a general-purpose emulator's STS does not report.
//
// The certificate is self-signed, made with the JDK's keytool at start; the KPL is run with
// VerifyCertificate=false.

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

final class StsStub {
    private static final char[] PASSWORD = "sts-stub".toCharArray();

    private final HttpsServer server;

    private StsStub(HttpsServer server) {
        this.server = server;
    }

    /** Starts the stub on an ephemeral port, answering with {@code account}. */
    static StsStub start(String account) throws Exception {
        HttpsServer server = HttpsServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(selfSigned()));
        byte[] body = ("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                + "<GetCallerIdentityResult>"
                + "<Arn>arn:aws:iam::" + account + ":user/emulator</Arn>"
                + "<UserId>EMULATORUSER</UserId>"
                + "<Account>" + account + "</Account>"
                + "</GetCallerIdentityResult>"
                + "<ResponseMetadata><RequestId>" + UUID.randomUUID() + "</RequestId></ResponseMetadata>"
                + "</GetCallerIdentityResponse>").getBytes(StandardCharsets.UTF_8);
        server.createContext("/", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                in.readAllBytes();
            }
            exchange.getResponseHeaders().set("Content-Type", "text/xml");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "sts-stub");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return new StsStub(server);
    }

    int port() {
        return server.getAddress().getPort();
    }

    void stop() {
        server.stop(0);
    }

    /** A key pair and certificate for localhost, made by keytool into a temporary keystore. */
    static SSLContext selfSigned() throws Exception {
        Path dir = Files.createTempDirectory("sts-stub");
        Path store = dir.resolve("stub.p12");
        try {
            Path keytool = Paths.get(System.getProperty("java.home"), "bin", "keytool");
            Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "sts",
                    "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "7",
                    "-dname", "CN=localhost", "-ext", "san=dns:localhost,ip:127.0.0.1",
                    "-storetype", "PKCS12", "-keystore", store.toString(),
                    "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD))
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("keytool failed: " + out.trim());
            }
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                ks.load(in, PASSWORD);
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, PASSWORD);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } finally {
            Files.deleteIfExists(store);
            Files.deleteIfExists(dir);
        }
    }
}

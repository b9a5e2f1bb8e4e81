// Starts DynamoDB Local bound to 127.0.0.1 only. DynamoDB Local has no option for the listening
// address (its Jetty server is built with `new Server(port)`, which listens on every interface, and it
// has no authentication), so this launcher builds the server as DynamoDB Local's own main does, points
// its connector at loopback before starting it, and then waits as main does.
// Run in source-file mode (JEP 330): java -cp DynamoDBLocal.jar LoopbackDynamoDBLocal.java <DynamoDB Local args>
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    int bound = 0;
    for (Connector connector : server.getConnectors()) {
      if (connector instanceof ServerConnector) {
        ((ServerConnector) connector).setHost("127.0.0.1");
        bound++;
      }
    }
    // Fail closed: never start a server that would listen on every interface.
    if (bound == 0 || bound != server.getConnectors().length) throw new IllegalStateException("cannot bind DynamoDB Local to loopback");
    proxy.start();
    proxy.join();
  }
}

package dev.devlane.peers.eureka;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.netflix.eureka.server.EnableEurekaServer;

/** A stand-alone Eureka server: the peer Devlane's Eureka registration is tested against. */
@SpringBootApplication
@EnableEurekaServer
public class EurekaPeer {
  public static void main(String[] args) {
    SpringApplication.run(EurekaPeer.class, args);
  }
}

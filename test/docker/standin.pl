#!/usr/bin/perl
# A stand-in for a service that has no binary here (Grafana, Loki, Alloy, cAdvisor): it answers
# the service's readiness endpoint, serves a one-series /metrics, accepts Alloy's POST /-/reload,
# and shows at GET /standin what it was given: its argv, user and groups, environment variable
# names, and every file under the directories it was told to watch (size, mode, owner, sha256).
# It does not do the service's work. Which service it plays: STANDIN_SERVICE.
use strict;
use warnings;
use IO::Socket::INET;

my $service = $ENV{STANDIN_SERVICE} // die "STANDIN_SERVICE is not set\n";
my @argv = @ARGV;
my $reloads = 0;
my $started = time;

sub flag {
  my ($name) = @_;
  for my $i (0 .. $#argv) {
    return $1 if $argv[$i] =~ /^--?\Q$name\E=(.*)$/;
    return $argv[$i + 1] if $argv[$i] =~ /^--?\Q$name\E$/ && $i < $#argv;
  }
  return undef;
}

sub loki_port {
  my $file = flag('config.file') // '/etc/loki/local-config.yaml';
  open(my $fh, '<', $file) or return 3100;
  while (<$fh>) { return $1 if /^\s*http_listen_port:\s*(\d+)/ }
  return 3100;
}

my %ports = (
  mailpit  => sub { 8025 },
  grafana  => sub { $ENV{GF_SERVER_HTTP_PORT} // 3000 },
  loki     => \&loki_port,
  alloy    => sub { my $a = flag('server.http.listen-addr') // ':12345'; $a =~ /:(\d+)$/ ? $1 : 12345 },
  cadvisor => sub { flag('port') // 8080 },
);
my %ready = (mailpit => '/readyz', grafana => '/api/health', loki => '/ready', alloy => '/-/ready', cadvisor => '/healthz');
die "unknown STANDIN_SERVICE $service\n" unless $ports{$service};
my $port = $ports{$service}->();

sub json_string {
  my ($s) = @_;
  $s =~ s/(["\\])/\\$1/g;
  $s =~ s/\n/\\n/g;
  $s =~ s/([\x00-\x1f])/sprintf('\\u%04x', ord $1)/ge;
  return "\"$s\"";
}

sub files_under {
  my @out;
  for my $dir (split /:/, $ENV{STANDIN_WATCH} // '') {
    next unless -e $dir;
    open(my $find, '-|', 'find', $dir, '-type', 'f') or next;
    chomp(my @paths = <$find>);
    close $find;
    for my $path (sort @paths) {
      my @st = stat $path;
      my $sha = '';
      if (open(my $sum, '-|', 'sha256sum', '--', $path)) { ($sha) = split ' ', (<$sum> // ''); close $sum }
      push @out, sprintf('{"path":%s,"size":%d,"mode":"%04o","uid":%d,"gid":%d,"readable":%s,"sha256":%s}',
        json_string($path), $st[7], $st[2] & 07777, $st[4], $st[5], (-r $path ? 'true' : 'false'),
        json_string($sha));
    }
  }
  return '[' . join(',', @out) . ']';
}

sub described {
  my @groups = split ' ', $);
  return sprintf('{"service":%s,"standin":true,"port":%d,"argv":[%s],"uid":%d,"gid":%d,"groups":[%s],'
      . '"env":[%s],"reloads":%d,"started":%d,"files":%s}',
    json_string($service), $port, join(',', map { json_string($_) } @argv), $<, $(,
    join(',', @groups), join(',', map { json_string($_) } sort keys %ENV), $reloads, $started, files_under());
}

# The mail catcher (Mailpit's ports): SMTP on 1025 keeps each message's headers; HTTP on 8025
# answers /readyz and lists them at /api/v1/messages (total, and each message's Subject and To).
sub mail_catcher {
  my @messages;
  my $smtp = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 1025, Listen => 16, ReuseAddr => 1)
    or die "mailpit stand-in: cannot listen on 1025: $!\n";
  my $http = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 8025, Listen => 16, ReuseAddr => 1)
    or die "mailpit stand-in: cannot listen on 8025: $!\n";
  require IO::Select;
  my $select = IO::Select->new($smtp, $http);
  print STDERR "mailpit stand-in: SMTP on :1025, HTTP on :8025\n";
  while (my @ready = $select->can_read) {
    for my $listener (@ready) {
      my $client = $listener->accept or next;
      eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 10;
        if ($listener == $smtp) {
          print $client "220 mailpit stand-in\r\n";
          my ($data, @headers, $in_headers) = (0);
          while (my $line = <$client>) {
            if ($data) {
              if ($line =~ /^\.\r?\n$/) {
                my ($subject) = map { /^Subject:\s*(.*?)\r?$/i ? $1 : () } @headers;
                my ($to) = map { /^To:\s*(.*?)\r?$/i ? $1 : () } @headers;
                push @messages, { subject => $subject // '', to => $to // '' };
                $data = 0;
                print $client "250 stored\r\n";
              } elsif ($in_headers) {
                if ($line =~ /^\r?\n$/) { $in_headers = 0 } else { push @headers, $line }
              }
              next;
            }
            if ($line =~ /^(EHLO|HELO)/i) { print $client "250-mailpit stand-in\r\n250 8BITMIME\r\n" }
            elsif ($line =~ /^DATA/i) { print $client "354 go on\r\n"; ($data, $in_headers, @headers) = (1, 1) }
            elsif ($line =~ /^QUIT/i) { print $client "221 bye\r\n"; last }
            else { print $client "250 ok\r\n" }
          }
        } else {
          my $request = <$client> // '';
          while (my $line = <$client>) { last if $line =~ /^\r?\n$/ }
          my (undef, $path) = split ' ', $request;
          $path = ($path // '') =~ s/\?.*//r;
          if ($path eq '/readyz') { respond($client, '200 OK', 'text/plain', "ok\n") }
          elsif ($path eq '/api/v1/messages') {
            my $list = join(',', map { sprintf('{"Subject":%s,"To":%s}', json_string($_->{subject}), json_string($_->{to})) } @messages);
            respond($client, '200 OK', 'application/json', sprintf('{"total":%d,"messages":[%s]}', scalar @messages, $list));
          } else { respond($client, '404 Not Found', 'text/plain', "not served by the mailpit stand-in\n") }
        }
        alarm 0;
      };
      close $client;
    }
  }
  exit 0;
}

sub respond {
  my ($client, $status, $type, $body) = @_;
  print $client "HTTP/1.1 $status\r\nContent-Type: $type\r\nContent-Length: " . length($body)
    . "\r\nConnection: close\r\n\r\n$body";
}

$SIG{TERM} = $SIG{INT} = sub { exit 0 };
$SIG{PIPE} = 'IGNORE';
mail_catcher() if $service eq 'mailpit';
my $server = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 16, ReuseAddr => 1)
  or die "$service stand-in: cannot listen on $port: $!\n";
print STDERR "$service stand-in listening on :$port as uid $<\n";

while (my $client = $server->accept) {
  eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 5;
    my $request = <$client> // '';
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/ }
    my ($method, $path) = split ' ', $request;
    $path //= '';
    $path =~ s/\?.*//;
    if ($path eq ($ready{$service} // '')) {
      respond($client, '200 OK', 'application/json', $service eq 'grafana' ? '{"database":"ok","version":"standin"}' : "ready\n");
    } elsif ($path eq '/metrics') {
      respond($client, '200 OK', 'text/plain; version=0.0.4',
        "# TYPE standin_up gauge\nstandin_up{service=\"$service\"} 1\n# TYPE standin_reloads_total counter\nstandin_reloads_total $reloads\n");
    } elsif ($path eq '/standin') {
      respond($client, '200 OK', 'application/json', described());
    } elsif ($path eq '/-/reload' && ($method // '') eq 'POST' && $service eq 'alloy') {
      my $config = $argv[-1] // '';
      if (-r $config && -s $config) { $reloads++; respond($client, '200 OK', 'text/plain', "config reloaded\n") }
      else { respond($client, '400 Bad Request', 'text/plain', "cannot read $config\n") }
    } else {
      respond($client, '404 Not Found', 'text/plain', "not served by the $service stand-in\n");
    }
    alarm 0;
  };
  close $client;
}
